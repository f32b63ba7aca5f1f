//! The small scenario in containers, one node per container of the local
//! `counterpart:test` image (testcontainers; the test build's binaries,
//! see `counterpart_tests::docker::ensure_image`), on a private network per run,
//! with one fault in the middle of implementation per test: a donor killed
//! and started again, a city cut off the network for some days, central
//! restarted. Each test starts its own cluster and removes it at the end.
//!
//! Every node keeps its state in its container's own layer
//! (`PAIRING_DATA_DIR=/data`), so a container killed and started again
//! resumes its run. Each test asserts what a user expects of the finished
//! run: the cases the scenario promises, every shipment receipted and
//! counted once, and the nodes' own books agreeing with central's ledger
//! (`pairctl ledger --reconcile`, run on the cluster's network).

use std::collections::BTreeSet;
use std::time::Duration;

use counterpart_tests::checks::{self, assert_holds, SMALL_SCENARIO_CASES_UNDER_FAULTS};
use counterpart_tests::cluster::{report, status};
use counterpart_tests::docker::cluster::{summary, ContainerCluster};
use serde_json::Value;

/// Fast enough that the 68-day scenario takes about 20 s, slow enough that
/// a fault lands between two shipments (one every 4 days, 1.2 s).
const DAY_MS: i64 = 300;
/// From the clock's start to the fault's trigger (about 5 scenario days).
const TRIGGER_LIMIT: Duration = Duration::from_secs(30);
/// From the fault to the end of the run: the scenario's 68 days are 20 s.
const RUN_LIMIT: Duration = Duration::from_secs(90);
/// The end date of small.toml: a run with a case left open ends only then.
const END_DATE: &str = "2020-04-15";

async fn small_cluster(test: &str) -> Option<ContainerCluster> {
    ContainerCluster::start(test, "small", DAY_MS).await
}

fn cases(report: &Value) -> &[Value] {
    report["cases"].as_array().map_or(&[], Vec::as_slice)
}

fn case<'a>(report: &'a Value, city: &str) -> &'a Value {
    cases(report)
        .iter()
        .find(|c| c["city"] == city)
        .unwrap_or_else(|| panic!("no case of {city}: {}", report["cases"]))
}

fn events(case: &Value) -> &[Value] {
    case["events"].as_array().map_or(&[], Vec::as_slice)
}

/// Whether `case` has an event `step` by `province` ("" for central or the
/// city).
fn has_event(case: &Value, step: &str, province: &str) -> bool {
    events(case)
        .iter()
        .any(|e| e["step"] == step && e["province"].as_str().unwrap_or("") == province)
}

/// Nothing counted twice: every shipment id is shipped once and received at
/// most once, and no case received more of a type than was shipped.
fn counted_once(report: &Value) -> Vec<String> {
    let mut violations = Vec::new();
    for case in cases(report) {
        let id = case["case_id"].as_str().unwrap_or("?");
        for step in ["shipped", "received"] {
            let mut seen = BTreeSet::new();
            for e in events(case).iter().filter(|e| e["step"] == step) {
                if !seen.insert(e["detail"].as_str().unwrap_or("")) {
                    violations.push(format!("{id}: {} {step} twice", e["detail"]));
                }
            }
        }
        for (kind, received) in case["received"].as_object().into_iter().flatten() {
            let shipped = case["shipped"][kind].as_i64().unwrap_or(0);
            if received.as_i64().unwrap_or(0) > shipped {
                violations.push(format!(
                    "{id}: received {received} {kind}, shipped {shipped}"
                ));
            }
        }
    }
    violations
}

/// The ledger lines (of `province`, or all with "") not settled: settled is
/// shipped = received + discrepancy with nothing in transit.
fn unsettled(report: &Value, province: &str) -> Vec<String> {
    report["ledger"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| province.is_empty() || l["province"] == province)
        .filter(|l| {
            let n = |k: &str| l[k].as_i64().unwrap_or(i64::MIN);
            n("in_transit") != 0 || n("shipped") != n("received") + n("discrepancy")
        })
        .map(|l| {
            format!(
                "{} {} {}: shipped {}, received {}, discrepancy {}, in transit {}",
                l["case_id"],
                l["province"],
                l["resource_type"],
                l["shipped"],
                l["received"],
                l["discrepancy"],
                l["in_transit"]
            )
        })
        .collect()
}

/// What holds on central's report whatever a fault did: nothing counted
/// twice, every step in order.
fn assert_consistent(report: &Value) {
    assert_holds("nothing counted twice", counted_once(report));
    assert_holds("legal order", checks::legal_order(report));
}

/// What a user expects of a run that recovered from its fault: the
/// scenario's cases, central's ledger settled, and the nodes' own books
/// saying what central's ledger says.
async fn assert_recovered(cluster: &ContainerCluster, report: &Value) {
    assert_consistent(report);
    assert_holds(
        "expected cases",
        checks::cases_as_expected(report, SMALL_SCENARIO_CASES_UNDER_FAULTS),
    );
    assert_holds("every ledger line settled", unsettled(report, ""));
    let (code, books) = cluster.reconcile_inside().await;
    assert_eq!(code, Some(0), "the nodes' books differ:\n{books}");
    assert!(
        books.contains("; 0 where the nodes' books and central's ledger differ"),
        "{books}"
    );
}

fn print_cases(report: &Value) {
    for c in cases(report) {
        println!(
            "  {} {} {}: received {}",
            c["case_id"], c["status"], c["provinces"], c["received"]
        );
    }
    for line in unsettled(report, "") {
        println!("  unsettled: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_donor_killed_mid_implementation_and_started_again() {
    let Some(cluster) = small_cluster("kill").await else {
        return;
    };
    cluster
        .wait_mid_implementation("alpha", TRIGGER_LIMIT)
        .await;
    let alpha = cluster.node("alpha");
    alpha.stop_with_timeout(Some(0)).await.expect("kill alpha");
    let running = alpha.is_running().await.ok();
    assert_eq!(running, Some(false), "alpha survived the kill");
    println!("killed alpha; starting it again under the same name");
    alpha.start().await.expect("start alpha again");
    let report = cluster.finish(RUN_LIMIT).await;
    print_cases(&report);

    assert_consistent(&report);
    // beta, never killed, delivered everything and reported its end.
    assert_holds("beta's ledger lines settled", unsettled(&report, "beta"));
    assert!(has_event(case(&report, "north"), "final_report", "beta"));

    // alpha resumed from its saved state: it answered the demobilisation
    // orders, brought its teams home and made its final reports.
    assert_recovered(&cluster, &report).await;
    for city in ["north", "south"] {
        assert!(
            has_event(case(&report, city), "final_report", "alpha"),
            "{city}: no final report from the restarted alpha: {}",
            case(&report, city)["events"]
        );
    }
    assert!(
        report["finished_at"]
            .as_str()
            .is_some_and(|t| !t.starts_with(END_DATE)),
        "the run should end when its cases close, not at the end date: {}",
        report["finished_at"]
    );
    println!("kill test: {:.1} s", cluster.seconds());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_cut_off_the_network_for_five_days() {
    // On the wall clock: a city cut off stops the lockstep clock (no step
    // ends without it, docs/PROTOCOL.md), so no scenario day would pass
    // while it is away; this test is about days passing without it.
    let wall = ContainerCluster::start_with_clock("partition", "small", DAY_MS, "wall");
    let Some(cluster) = wall.await else {
        return;
    };
    cluster
        .wait_mid_implementation("alpha", TRIGGER_LIMIT)
        .await;
    let cut_at_ms = status(&cluster.endpoint).await.scenario_now_ms;
    cluster.set_connected("north", false).await;
    // Cut off until a donor's shipment to north has left meanwhile (its
    // report to central says so), however long that takes on the wall.
    until_shipped_to("north", cut_at_ms, &cluster).await;
    let back_at_ms = status(&cluster.endpoint).await.scenario_now_ms;
    cluster.set_connected("north", true).await;
    let report = cluster.finish(RUN_LIMIT).await;
    print_cases(&report);
    assert_recovered(&cluster, &report).await;

    // The cut did bite: a shipment left for north while it was away and
    // was receipted only once it was back (the donor's retries carried it).
    let late = late_deliveries(case(&report, "north"), cut_at_ms, back_at_ms);
    println!("shipments to north receipted after the cut: {late:?}");
    assert!(
        !late.is_empty(),
        "no shipment to north left between {cut_at_ms} and {back_at_ms} ms and was \
         receipted after: {}",
        case(&report, "north")["events"]
    );
    println!("partition test: {:.1} s", cluster.seconds());
}

/// Waits until central's report shows a shipment to `city` that departed
/// at or after `from_ms` (scenario time).
async fn until_shipped_to(city: &str, from_ms: i64, cluster: &ContainerCluster) {
    let started = std::time::Instant::now();
    loop {
        let report = report(&cluster.endpoint).await;
        let left = events(case(&report, city))
            .iter()
            .any(|e| e["step"] == "shipped" && e["at_ms"].as_i64().unwrap_or(-1) >= from_ms);
        if left {
            return;
        }
        assert!(
            started.elapsed() < RUN_LIMIT,
            "no shipment to {city} left after {from_ms} ms: {}",
            case(&report, city)["events"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Shipments of `case` that left in [from_ms, to_ms) and were receipted at
/// or after `to_ms`.
fn late_deliveries(case: &Value, from_ms: i64, to_ms: i64) -> Vec<String> {
    let at = |step: &str, id: &Value| {
        events(case)
            .iter()
            .find(|e| e["step"] == step && e["detail"] == *id)
            .and_then(|e| e["at_ms"].as_i64())
    };
    events(case)
        .iter()
        .filter(|e| e["step"] == "shipped")
        .filter(|e| {
            let shipped = at("shipped", &e["detail"]).unwrap_or(i64::MIN);
            let received = at("received", &e["detail"]).unwrap_or(i64::MIN);
            (from_ms..to_ms).contains(&shipped) && received >= to_ms
        })
        .map(|e| e["detail"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn central_restarted_mid_run() {
    let Some(mut cluster) = small_cluster("central").await else {
        return;
    };
    cluster
        .wait_mid_implementation("alpha", TRIGGER_LIMIT)
        .await;
    cluster.restart_central().await;

    // Central resumed from its saved state: the clock, every registration
    // and every case are still there, and the run goes on to its end.
    let s = status(&cluster.endpoint).await;
    println!("after the restart: {}", summary(&s));
    assert!(s.clock.is_some(), "the restarted central kept its clock");
    assert!(
        !s.cases.is_empty() && s.nodes.iter().all(|n| n.registered),
        "the restarted central kept its cases and registrations: {}",
        summary(&s)
    );
    let report = cluster.finish(RUN_LIMIT).await;
    print_cases(&report);
    assert_recovered(&cluster, &report).await;
    println!("central restart test: {:.1} s", cluster.seconds());
}
