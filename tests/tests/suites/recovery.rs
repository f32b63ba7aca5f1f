//! Durable state end to end: nodes crashed mid-run (their runtime dropped at
//! whatever await it had reached, as `kill -9` would leave them) and started
//! again on their data directories resume where they were, and the run
//! still ends with every case closed and every unit accounted for once.

use std::time::Duration;

use counterpart_domain::clock::unix_now_ms;

use counterpart_tests::checks::{
    assert_holds, books_reconcile, cases_as_expected, legal_order, SMALL_SCENARIO_CASES,
};
use counterpart_tests::resilient::ResilientCluster;
use counterpart_tests::scenario_path;

const DAY_MS: i64 = 150;

/// Waits until central's clock reads `day` (scenario days).
async fn until_day(cluster: &ResilientCluster, day: f64) {
    for _ in 0..2_000 {
        if cluster.scenario_day().await.is_some_and(|d| d >= day) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("central never reached day {day}");
}

async fn assert_recovered(cluster: &ResilientCluster) {
    cluster.wait_finished(Duration::from_secs(180)).await;
    let report = cluster.report_with_books().await;
    assert_holds(
        "expected cases",
        cases_as_expected(&report, SMALL_SCENARIO_CASES),
    );
    assert_holds("legal order", legal_order(&report));
    assert_holds("nodes' books reconcile", books_reconcile(&report));
    let (violations, totals) = cluster.conservation().await;
    assert_holds("conservation", violations);
    assert!(totals.shipped > 0, "goods moved: {totals:?}");
    assert_eq!((totals.lost, totals.duplicated), (0, 0), "{totals:?}");
    // The operator's view of the same: `pairctl ledger --reconcile`.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pairctl-under-test"))
        .args([
            "ledger",
            "--reconcile",
            "--central",
            cluster.central_endpoint(),
        ])
        .output()
        .await
        .expect("pairctl runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "reconcile flags a difference:\n{stdout}"
    );
    assert!(
        stdout.contains("; 0 where the nodes' books and central's ledger differ"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn central_crashed_mid_run_resumes_and_every_case_closes() {
    let mut cluster =
        ResilientCluster::start(&scenario_path("small"), DAY_MS, None, "central-crash", None).await;
    until_day(&cluster, 4.0).await;
    let clock = cluster
        .status()
        .await
        .and_then(|s| s.clock)
        .expect("the clock runs");
    cluster.node("central").crash().await;
    // Down for three scenario days: the scenario runs on wall time from
    // the clock's epoch, with central down too.
    let back_at = clock.epoch_unix_ms + 7 * clock.day_ms;
    let wait_ms = (back_at - unix_now_ms()).max(0);
    tokio::time::sleep(Duration::from_millis(wait_ms as u64)).await;
    cluster
        .node("central")
        .restart()
        .await
        .expect("central restarts");
    assert_recovered(&cluster).await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn donor_crashed_while_shipping_resumes_its_outbox() {
    let mut cluster =
        ResilientCluster::start(&scenario_path("small"), DAY_MS, None, "donor-crash", None).await;
    for day in [5.0, 9.0] {
        until_day(&cluster, day).await;
        cluster.node("alpha").crash().await;
        until_day(&cluster, day + 1.0).await;
        cluster
            .node("alpha")
            .restart()
            .await
            .expect("alpha restarts");
    }
    assert_recovered(&cluster).await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn city_crashed_while_receiving_resumes_its_inbox() {
    let mut cluster =
        ResilientCluster::start(&scenario_path("small"), DAY_MS, None, "city-crash", None).await;
    for day in [5.0, 8.0] {
        until_day(&cluster, day).await;
        cluster.node("north").crash().await;
        until_day(&cluster, day + 1.0).await;
        cluster
            .node("north")
            .restart()
            .await
            .expect("north restarts");
    }
    assert_recovered(&cluster).await;
    cluster.stop().await;
}
