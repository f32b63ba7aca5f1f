//! The small scenario under injected faults (in-process, seeded): requests
//! and replies dropped, messages delayed and delivered twice. Every case
//! must still close and the nodes' books agree with central's ledger,
//! because every message is resent until answered and applied once. Each
//! kind of fault is shown to have fired, counted at the nodes.

use std::time::{Duration, Instant};

use counterpart_tests::checks::{self, assert_holds, SMALL_SCENARIO_CASES};
use counterpart_tests::cluster::Cluster;
use counterpart_tests::scenario_path;
use node_kit::faults::{FaultPlan, FaultRates};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_scenario_closes_every_case_despite_faults() {
    let plan = FaultPlan::new(
        20_200_207,
        FaultRates {
            drop_request: 0.1,
            drop_reply: 0.1,
            delay: 0.2,
            duplicate: 0.1,
            max_delay: Duration::from_millis(40),
        },
    );
    let cluster =
        Cluster::start_with_faults(&scenario_path("small"), 150, None, Some(plan.clone())).await;
    cluster.wait_finished(Duration::from_secs(180)).await;
    let report = cluster.report_with_books().await;

    assert_holds("legal order", checks::legal_order(&report));
    assert_holds("nodes' books reconcile", checks::books_reconcile(&report));
    assert_holds(
        "expected cases",
        checks::cases_as_expected(&report, SMALL_SCENARIO_CASES),
    );
    let fired = plan.fired();
    println!("faults fired at the nodes: {fired:?}");
    assert!(fired.dropped_requests > 0, "{fired:?}");
    assert!(fired.dropped_replies > 0, "{fired:?}");
    assert!(fired.duplicated > 0, "{fired:?}");
    assert!(fired.delayed > 0, "{fired:?}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healed_partition_lets_the_run_finish() {
    let plan = FaultPlan::new(7, FaultRates::default());
    // north cannot reach central until healed: its request waits.
    plan.partition("north", "central");
    let cluster =
        Cluster::start_with_faults(&scenario_path("small"), 150, None, Some(plan.clone())).await;
    // Heal once central has refused north at least once.
    let started = Instant::now();
    while plan
        .at_nodes()
        .get("central")
        .is_none_or(|c| c.fired.partitioned == 0)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "north never tried to reach central"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    plan.heal_all();
    cluster.wait_finished(Duration::from_secs(180)).await;
    let report = cluster.report_with_books().await;
    assert_holds("nodes' books reconcile", checks::books_reconcile(&report));
    // north's case exists and closed, though its request waited.
    assert_holds(
        "expected cases",
        checks::cases_as_expected(&report, SMALL_SCENARIO_CASES),
    );
    cluster.stop().await;
}
